import { useEffect, useState } from "react";

export default function Boards() {
  const [boards, setBoards] = useState([]);
  useEffect(() => {
    fetch("/api/boards").then((r) => r.json()).then(setBoards);
  }, []);
  return (
    <ul>
      {boards.map((b) => (
        <li key={b.id}>{b.title}</li>
      ))}
    </ul>
  );
}
