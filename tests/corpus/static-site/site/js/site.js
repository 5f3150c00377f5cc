document.getElementById("cta")?.addEventListener("click", () => {
  window.location.href = "/pricing.html";
});
