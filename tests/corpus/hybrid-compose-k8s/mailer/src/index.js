const http = require("http");
const nodemailer = require("nodemailer");

const transport = nodemailer.createTransport({ host: process.env.SMTP_HOST || "host.docker.internal", port: 1025 });
const queueUrl = process.env.QUEUE_URL || "http://host.docker.internal:4566/queues/emails";

async function poll() {
  const res = await fetch(queueUrl);
  const msg = await res.json();
  if (msg) {
    await transport.sendMail({ from: "noreply@notify.local", to: msg.to, subject: msg.subject, text: msg.body });
    console.log("sent mail to", msg.to);
  }
}

setInterval(() => poll().catch((err) => console.error(err.message)), 2000);
http.createServer((_req, res) => res.end("mailer ok\n")).listen(8080);
