const http = require("http");

const port = Number(process.env.PORT || 7004);
http
  .createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ service: "checkout", path: req.url }));
  })
  .listen(port, () => console.log("checkout on", port));
