import http from "k6/http";

export const options = { vus: 5, duration: "30s" };

export default function () {
  http.get("http://localhost:9101/quotes?amount=100");
}
