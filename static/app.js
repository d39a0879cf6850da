// Small behaviours only; pages work without it.
document.addEventListener("htmx:responseError", function (event) {
  var target = document.getElementById("desk-progress") || document.getElementById("job-status");
  if (target) target.textContent = "The request failed (" + event.detail.xhr.status + "). Reload the page and try again.";
});

// Tabs (WAI-ARIA tabs pattern): arrow keys, Home and End move between tabs and open them.
document.addEventListener("keydown", function (event) {
  var tab = event.target.closest && event.target.closest('[role="tab"]');
  if (!tab) return;
  var tabs = Array.prototype.slice.call(tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]'));
  var i = tabs.indexOf(tab), next = null;
  if (event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
  else if (event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (!next) return;
  event.preventDefault();
  window.__focusTab = next.id;
  next.focus();
  next.click();
});

// Focus after swaps: the chosen tab keeps focus when the section is replaced; a progress or
// refusal message is announced (role=status / alert) and the Sync panel receives focus when opened.
document.addEventListener("htmx:afterSettle", function (event) {
  if (window.__focusTab) {
    // Keep asking until the chosen tab is the selected one: another swap settling first (the
    // banner refreshing itself) must not use the request up before the tabs are replaced.
    var tab = document.getElementById(window.__focusTab);
    if (tab) {
      tab.focus();
      if (tab.getAttribute("aria-selected") === "true") window.__focusTab = null;
    }
  }
  var panel = event.detail.target && event.detail.target.id === "qbo-panel" && document.getElementById("sync-panel");
  if (panel) panel.focus();
});
document.addEventListener("click", function (event) {
  var tab = event.target.closest && event.target.closest('[role="tab"]');
  if (tab) window.__focusTab = tab.id;
});

// Forms that ask before they submit: <form data-confirm="Delete this record?"> (no inline script
// under the Content-Security-Policy).
document.addEventListener("submit", function (event) {
  var form = event.target.closest && event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});

// "Add line" / "Add row": the new row's index is how many rows the table has (data-row-index names
// them). Set here rather than with hx-vals="js:...", which htmx evaluates and the CSP forbids.
document.addEventListener("htmx:configRequest", function (event) {
  var selector = event.detail.elt.getAttribute && event.detail.elt.getAttribute("data-row-index");
  if (selector) event.detail.parameters.index = document.querySelectorAll(selector).length;
});
