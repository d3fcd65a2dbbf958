"""The rasa-sdk peer of the Go action server, for bench/run.sh only."""
