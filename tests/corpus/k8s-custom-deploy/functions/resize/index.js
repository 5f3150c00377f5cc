module.exports = async (req) => ({ resized: true, query: req.url });
