// hello is the workload of the test bed's own tests: it logs a line at start and answers every HTTP
// request with its greeting and the pod's host name, so a test can tell which pod answered. With
// TLS_CERT_FILE and TLS_KEY_FILE it serves HTTPS, and then also a validating admission webhook on POST
// /validate that refuses objects whose name starts with "denied-" (the e2e tests' webhook served on a worker).
// As a client, `hello -resolve NAME` and `hello -get URL` are the tests' DNS and HTTP probes from inside a pod.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// admissionReview is the part of admission.k8s.io/v1 AdmissionReview this webhook reads and writes.
type admissionReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		UID    string `json:"uid"`
		Name   string `json:"name"`
		Object struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"object"`
	} `json:"request,omitempty"`
	Response *admissionResponse `json:"response,omitempty"`
}

type admissionResponse struct {
	UID     string `json:"uid"`
	Allowed bool   `json:"allowed"`
	Status  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status,omitempty"`
}

func validate(host string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var review admissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "expected an AdmissionReview with a request", http.StatusBadRequest)
			return
		}
		name := review.Request.Object.Metadata.Name
		if name == "" {
			name = review.Request.Name
		}
		response := &admissionResponse{UID: review.Request.UID, Allowed: !strings.HasPrefix(name, "denied-")}
		if !response.Allowed {
			response.Status = &struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}{Code: 403, Message: fmt.Sprintf("hello webhook on %s refuses %q: names starting with denied- are not allowed", host, name)}
		}
		fmt.Printf("webhook %s: allowed=%v\n", name, response.Allowed)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(admissionReview{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Response: response})
	}
}

func main() {
	// `hello -resolve NAME` prints the addresses NAME resolves to: the e2e tests' DNS probe.
	if len(os.Args) == 3 && os.Args[1] == "-resolve" {
		addrs, err := net.LookupHost(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(strings.Join(addrs, " "))
		return
	}
	// `hello -get URL` prints the body URL answers with (5 s timeout): the e2e tests' pod-to-pod and Service probe.
	if len(os.Args) == 3 && os.Args[1] == "-get" {
		client := &http.Client{Timeout: 5 * time.Second}
		resp, err := client.Get(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(string(body))
		return
	}
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello from kubeception"
	}
	host, _ := os.Hostname()
	addr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		addr = ":" + port
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (%s)\n", greeting, host)
	})
	certFile, keyFile := os.Getenv("TLS_CERT_FILE"), os.Getenv("TLS_KEY_FILE")
	if certFile != "" && keyFile != "" {
		http.HandleFunc("/validate", validate(host))
		fmt.Printf("hello-server %s listening on %s (https)\n", host, addr)
		log.Fatal(http.ListenAndServeTLS(addr, certFile, keyFile, nil))
	}
	fmt.Printf("hello-server %s listening on %s\n", host, addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
