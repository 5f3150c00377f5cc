const fastify = require("fastify")({ logger: { level: process.env.PAYMENTS_LOG_LEVEL || "info" } });

fastify.post("/charges", async (req) => ({ id: `ch_${Date.now()}`, amount: req.body.amount, mode: process.env.STRIPE_MODE }));
fastify.get("/healthz", async () => ({ ok: true }));

fastify.listen({ port: 4242, host: "0.0.0.0" });
