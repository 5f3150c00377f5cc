module.exports = async () => ({ thumbnail: "generated", size: "128x128" });
