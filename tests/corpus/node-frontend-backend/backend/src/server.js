const express = require("express");
const boards = require("../routes/boards");

const app = express();
app.use(express.json());
app.use("/api/boards", boards);
app.get("/healthz", (_req, res) => res.json({ ok: true }));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`backend listening on ${port}`));
