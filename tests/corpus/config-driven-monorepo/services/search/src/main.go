package main

import (
	"fmt"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "search results for %q\n", r.URL.Query().Get("q"))
	})
	http.ListenAndServe(":8002", nil)
}
