// Package deploy has no code of its own: its tests (package deploy_test)
// build and cross-check the deployment files — k8s/, the Dockerfiles,
// docker-compose.yml, the CI workflow and the alert rules. Run them with
// `go test ./deploy/...`; `-update` regenerates k8s/monitoring/prometheusrule.yaml.
package deploy
