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

// Choices a person made on the errors tab (an action on a row or a group, a customer picked) are
// kept until Submit: leaving the tab, its filter or its page asks first, and so does leaving the
// page; when the errors change meanwhile, the list is not replaced under the person's choices, a
// button offers the refresh instead.
function deskChoicesPending() {
  var desk = document.getElementById("errors-desk");
  if (!desk || window.__deskSubmitted) return false;
  var fields = desk.querySelectorAll('select[name^="action-"], select[name^="group-"]');
  for (var i = 0; i < fields.length; i++) if (fields[i].value) return true;
  return false;
}
document.addEventListener("htmx:beforeRequest", function (event) {
  var desk = document.getElementById("errors-desk");
  if (!desk || event.detail.target !== desk || !deskChoicesPending()) return;
  if (event.detail.elt === desk) {
    // The list refreshing itself (new errors, another person's fix): keep the person's choices.
    event.preventDefault();
    var stale = desk.querySelector(".desk-stale");
    if (stale) stale.hidden = false;
  } else if (!window.confirm(desk.getAttribute("data-unsaved"))) {
    event.preventDefault();
    if (event.detail.elt.tagName === "FORM") event.detail.elt.reset();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.closest && form.closest("#errors-desk") && form.querySelector('select[name^="action-"], select[name^="group-"]')) {
    window.__deskSubmitted = true;
  }
});
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.target && event.detail.target.id === "errors-desk") window.__deskSubmitted = false;
  var refused = document.querySelector("#desk-progress [role=alert]");
  if (refused && event.detail.target && event.detail.target.id === "desk-progress") window.__deskSubmitted = false;
});
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-refresh-desk]");
  if (!button) return;
  window.__deskSubmitted = true;  // the person asked: their unsubmitted choices may go
  htmx.trigger(document.body, "qbo-errors-changed");
});
window.addEventListener("beforeunload", function (event) {
  if (deskChoicesPending()) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// The banner refreshes itself every 30 s: when the count of open errors changed, the open tab's
// list and counts follow (or, when choices are pending, offer to).
function bannerCount() {
  var banner = document.getElementById("qbo-banner");
  return banner ? banner.getAttribute("data-open-errors") : null;
}
document.addEventListener("DOMContentLoaded", function () { window.__bannerCount = bannerCount(); });
document.addEventListener("htmx:afterSettle", function () {
  var now = bannerCount();
  if (now === null || now === window.__bannerCount) return;
  window.__bannerCount = now;
  var desk = document.getElementById("errors-desk");
  if (desk) htmx.trigger(desk, "qbo-errors-changed-here");
});

// A desk message held at the window's bottom can be put away once read.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-dismiss]");
  if (button && button.parentNode) button.parentNode.remove();
});

// A form that asks first (Delete, Disconnect): its question is in data-confirm, not inline script.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
}, true);

// "Add line" / "Add row": the new row's index is how many rows the table has (data-row-index names
// them). Set here rather than with hx-vals="js:...", which htmx evaluates and the CSP forbids.
document.addEventListener("htmx:configRequest", function (event) {
  var selector = event.detail.elt.getAttribute && event.detail.elt.getAttribute("data-row-index");
  if (selector) event.detail.parameters.index = document.querySelectorAll(selector).length;
});
