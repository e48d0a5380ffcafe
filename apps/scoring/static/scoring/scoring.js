// Scoring pages: the print button of the report, and the comparison picker's 6-team limit.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("change", (event) => {
  const box = event.target.closest("input[data-compare-pick]");
  if (!box) return;
  const form = box.closest("form");
  const max = parseInt(form.dataset.max || "6", 10);
  const picked = form.querySelectorAll("input[data-compare-pick]:checked").length;
  form.querySelectorAll("input[data-compare-pick]:not(:checked)").forEach((other) => {
    other.disabled = picked >= max;
  });
  const counter = form.querySelector("[data-compare-count]");
  if (counter) counter.textContent = `${picked} of ${max} chosen`;
});
