const { Router } = require("express");

const router = Router();
const boards = [{ id: 1, title: "Sprint 12", columns: ["todo", "doing", "done"] }];

router.get("/", (_req, res) => res.json(boards));
router.post("/", (req, res) => {
  const board = { id: boards.length + 1, title: req.body.title || "untitled", columns: ["todo"] };
  boards.push(board);
  res.status(201).json(board);
});

module.exports = router;
