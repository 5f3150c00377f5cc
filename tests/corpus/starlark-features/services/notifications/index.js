const http = require("http");

const port = Number(process.env.PORT || 7005);
http
  .createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ service: "notifications", path: req.url }));
  })
  .listen(port, () => console.log("notifications on", port));
