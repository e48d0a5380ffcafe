// Small behaviours shared by every page; no inline scripts (CSP: script-src 'self').
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]");
  if (form) form.requestSubmit();
});

// Destructive forms ask first: <form data-confirm="Revoke this token?">.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Copy-to-clipboard buttons: <button data-copy="#element-id">.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value || source.textContent.trim());
    button.innerHTML = '<i class="bi bi-check2"></i> Copied';
  } catch (err) {
    source.select && source.select();
  }
});

// Charts: <canvas data-chart='{...chart.js config...}'> rendered when Chart.js is on the page.
function renderCharts(root) {
  if (typeof window.Chart === "undefined") return;
  root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    if (canvas.dataset.rendered) return;
    canvas.dataset.rendered = "1";
    new window.Chart(canvas, JSON.parse(canvas.dataset.chart));
  });
}
document.addEventListener("DOMContentLoaded", () => renderCharts(document));
document.addEventListener("htmx:afterSwap", (event) => renderCharts(event.target));
