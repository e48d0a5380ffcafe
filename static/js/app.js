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

// People pickers (templates/widgets/people_picker.html): htmx fills the result list; a
// picked person becomes a chip holding a hidden input, and its × removes it.
function pickerResults(picker) {
  return picker.querySelector("[data-picker-results]");
}
function closePicker(picker) {
  const results = pickerResults(picker);
  results.classList.remove("show");
  results.replaceChildren();
}
function addPerson(picker, id, label, email) {
  const chips = picker.querySelector("[data-picker-chips]");
  if (!chips.querySelector(`[data-person="${CSS.escape(id)}"]`)) {
    const chip = document.createElement("span");
    chip.className = "people-chip";
    chip.dataset.person = id;
    chip.title = email || "";
    const text = document.createElement("span");
    text.textContent = label;
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = picker.dataset.name;
    input.value = id;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn-close";
    remove.dataset.pickerRemove = "";
    remove.setAttribute("aria-label", `Remove ${label}`);
    chip.append(text, input, remove);
    chips.append(chip);
  }
  picker.querySelector("input[type=search]").value = "";
  closePicker(picker);
}
document.addEventListener("click", (event) => {
  const remove = event.target.closest("[data-picker-remove]");
  if (remove) {
    remove.closest("[data-person]").remove();
    return;
  }
  const pick = event.target.closest("[data-pick]");
  if (pick) {
    addPerson(pick.closest("[data-people-picker]"), pick.dataset.pick, pick.dataset.label, pick.dataset.email);
    return;
  }
  document.querySelectorAll("[data-people-picker]").forEach((picker) => {
    if (!picker.contains(event.target)) closePicker(picker);
  });
});
document.addEventListener("keydown", (event) => {
  const search = event.target.closest("[data-people-picker] input[type=search]");
  if (!search) return;
  const picker = search.closest("[data-people-picker]");
  if (event.key === "Enter") {
    // Enter picks the first match instead of submitting the whole form.
    event.preventDefault();
    const first = pickerResults(picker).querySelector("[data-pick]");
    if (first) addPerson(picker, first.dataset.pick, first.dataset.label, first.dataset.email);
  } else if (event.key === "Escape") {
    closePicker(picker);
  } else if (event.key === "ArrowDown") {
    const first = pickerResults(picker).querySelector("[data-pick]");
    if (first) {
      event.preventDefault();
      first.focus();
    }
  }
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.target.matches && event.target.matches("[data-picker-results]")) {
    event.target.classList.toggle("show", event.target.children.length > 0);
  }
});

// Character counters: <textarea data-limit="4000"> and <div data-count-for="its id">. The
// limit is not enforced here (a maxlength would cut a paste silently): the server refuses
// and says so; the counter warns before that.
function updateCount(field) {
  const counter = document.querySelector(`[data-count-for="${CSS.escape(field.id)}"]`);
  if (!counter) return;
  const limit = Number(field.dataset.limit);
  const length = field.value.length;
  counter.textContent = length > limit * 0.8 ? `${length.toLocaleString("en-US")} / ${limit.toLocaleString("en-US")}` : "";
  counter.classList.toggle("text-danger", length > limit);
  counter.classList.toggle("fw-semibold", length > limit);
}
document.addEventListener("input", (event) => {
  if (event.target.matches && event.target.matches("[data-limit]")) updateCount(event.target);
});
document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-limit]").forEach(updateCount));
