import React from "react";
import { createRoot } from "react-dom/client";
import Boards from "./Boards.jsx";

createRoot(document.getElementById("root")).render(<Boards />);
