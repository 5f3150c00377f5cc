package main

import (
	"log"
	"net/http"
	"os"

	"example.com/orders-platform/pkg/httpx"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8081"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", httpx.Healthz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"service": "orders", "path": r.URL.Path})
	})
	log.Printf("orders listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
