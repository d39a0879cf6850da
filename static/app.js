// Small behaviours only; pages work without it.
document.addEventListener("htmx:responseError", function (event) {
  var target = document.getElementById("job-status");
  if (target) target.textContent = "The request failed (" + event.detail.xhr.status + "). Reload the page and try again.";
});
