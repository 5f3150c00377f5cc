const http = require("http");
http.createServer((_req, res) => res.end(JSON.stringify({ recommendations: [] }))).listen(8003);
