// hello is the workload of the test bed's own tests: it logs a line at start and answers every HTTP
// request with its greeting and the pod's host name, so a test can tell which pod answered.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
)

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
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello from kubeception"
	}
	host, _ := os.Hostname()
	addr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		addr = ":" + port
	}
	fmt.Printf("hello-server %s listening on %s\n", host, addr)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s (%s)\n", greeting, host)
	})
	log.Fatal(http.ListenAndServe(addr, nil))
}
