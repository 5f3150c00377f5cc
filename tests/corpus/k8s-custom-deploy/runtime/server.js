// Minimal function runtime: POST /fn/<name> runs /var/functions/<name>/index.js
const http = require("http");
const path = require("path");

const dir = process.env.FN_DIR || "/var/functions";

http
  .createServer(async (req, res) => {
    const name = req.url.replace(/^\/fn\//, "");
    try {
      const file = path.join(dir, name, "index.js");
      delete require.cache[require.resolve(file)];
      const out = await require(file)(req);
      res.end(JSON.stringify(out));
    } catch (err) {
      res.statusCode = 404;
      res.end(String(err));
    }
  })
  .listen(8080);
