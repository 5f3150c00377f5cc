package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	region := os.Getenv("REGION")
	http.HandleFunc("/cart", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"region":%q,"items":[]}`, region)
	})
	http.ListenAndServe(":8080", nil)
}
