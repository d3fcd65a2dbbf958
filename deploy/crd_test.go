package deploy_test

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The custom resources are decoded strictly into these partial types: they
// model exactly the fields the manifests use, with the JSON names of the
// operators' CRDs (CloudNativePG postgresql.cnpg.io/v1, Prometheus Operator
// monitoring.coreos.com/v1). A misspelt field fails the decode; a new field
// of the CRD has to be added here first, on purpose.

type objectHead struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
}

type secretKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type localObjectRef struct {
	Name string `json:"name"`
}

type cnpgStorage struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass,omitempty"`
}

type cnpgBarmanObjectStore struct {
	DestinationPath string `json:"destinationPath"`
	EndpointURL     string `json:"endpointURL,omitempty"`
	ServerName      string `json:"serverName,omitempty"`
	S3Credentials   *struct {
		AccessKeyID        *secretKeySelector `json:"accessKeyId,omitempty"`
		SecretAccessKey    *secretKeySelector `json:"secretAccessKey,omitempty"`
		Region             *secretKeySelector `json:"region,omitempty"`
		SessionToken       *secretKeySelector `json:"sessionToken,omitempty"`
		InheritFromIAMRole bool               `json:"inheritFromIAMRole,omitempty"`
	} `json:"s3Credentials,omitempty"`
	Wal *struct {
		Compression string `json:"compression,omitempty"`
		Encryption  string `json:"encryption,omitempty"`
		MaxParallel int    `json:"maxParallel,omitempty"`
	} `json:"wal,omitempty"`
	Data *struct {
		Compression         string `json:"compression,omitempty"`
		Encryption          string `json:"encryption,omitempty"`
		Jobs                int    `json:"jobs,omitempty"`
		ImmediateCheckpoint bool   `json:"immediateCheckpoint,omitempty"`
	} `json:"data,omitempty"`
}

type cnpgCluster struct {
	objectHead `json:",inline"`
	Spec       struct {
		Instances             int    `json:"instances"`
		ImageName             string `json:"imageName"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy,omitempty"`
		EnableSuperuserAccess *bool  `json:"enableSuperuserAccess,omitempty"`
		Bootstrap             *struct {
			Initdb *struct {
				Database string          `json:"database"`
				Owner    string          `json:"owner"`
				Secret   *localObjectRef `json:"secret,omitempty"`
			} `json:"initdb,omitempty"`
		} `json:"bootstrap,omitempty"`
		PostgreSQL *struct {
			Parameters map[string]string `json:"parameters,omitempty"`
		} `json:"postgresql,omitempty"`
		Storage    cnpgStorage                  `json:"storage"`
		WalStorage *cnpgStorage                 `json:"walStorage,omitempty"`
		Resources  *corev1.ResourceRequirements `json:"resources,omitempty"`
		Affinity   *struct {
			EnablePodAntiAffinity *bool  `json:"enablePodAntiAffinity,omitempty"`
			TopologyKey           string `json:"topologyKey,omitempty"`
		} `json:"affinity,omitempty"`
		Backup *struct {
			RetentionPolicy   string                 `json:"retentionPolicy,omitempty"`
			BarmanObjectStore *cnpgBarmanObjectStore `json:"barmanObjectStore,omitempty"`
		} `json:"backup,omitempty"`
	} `json:"spec"`
}

type cnpgScheduledBackup struct {
	objectHead `json:",inline"`
	Spec       struct {
		Schedule             string         `json:"schedule"`
		BackupOwnerReference string         `json:"backupOwnerReference,omitempty"`
		Immediate            *bool          `json:"immediate,omitempty"`
		Suspend              *bool          `json:"suspend,omitempty"`
		Method               string         `json:"method,omitempty"`
		Target               string         `json:"target,omitempty"`
		Cluster              localObjectRef `json:"cluster"`
	} `json:"spec"`
}

// rule and ruleGroup are Prometheus's rule file format, shared by the plain
// rules file and the PrometheusRule's spec.
type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type prometheusRule struct {
	objectHead `json:",inline"`
	Spec       ruleFile `json:"spec"`
}

type namespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type serviceMonitor struct {
	objectHead `json:",inline"`
	Spec       struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		NamespaceSelector namespaceSelector    `json:"namespaceSelector"`
		Selector          metav1.LabelSelector `json:"selector"`
		Endpoints         []struct {
			Port          string `json:"port"`
			Path          string `json:"path,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type podMonitor struct {
	objectHead `json:",inline"`
	Spec       struct {
		NamespaceSelector   namespaceSelector    `json:"namespaceSelector"`
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}
