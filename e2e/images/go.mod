module kubeception.local/testimages

go 1.26.0
