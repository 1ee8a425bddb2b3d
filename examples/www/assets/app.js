// The demo's single-page app: zhttpd answers a deep link such as /settings/profile with
// /index.html (--fallback), and this script shows the view of location.pathname.
"use strict";

const views = { "/": "home", "/settings/profile": "profile" };

function render() {
  const view = views[location.pathname] || "not-found";
  const main = document.getElementById("view");
  main.replaceChildren(document.getElementById(`view-${view}`).content.cloneNode(true));
  document.title = view === "home" ? "zhttpd demo" : `${view} · zhttpd demo`;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.getAttribute("href") === location.pathname);
  }
  // Read back by tests/integration/browser_test.cpp: the script ran and picked this view.
  document.getElementById("status").textContent = `ready: ${view}`;
}

// Links between the app's own views change the address without a new page load.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-route]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  history.pushState(null, "", link.getAttribute("href"));
  render();
});
window.addEventListener("popstate", render);
render();
