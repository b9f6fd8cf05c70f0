// BooGYMan admin: progressive enhancement only; every page works without JavaScript.
"use strict";

// Forms with data-confirm ask before submitting (unlocking a door, cancelling, approving revocations).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// Search as you type: fetch the list's rows as an HTML fragment rendered (and escaped) by the server.
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-live-search]")) {
    const target = document.getElementById(input.dataset.target);
    let timer = null;
    let latest = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const ticket = ++latest;
        // The form's other filters (the members' status) go along with the search text.
        const query = new URLSearchParams(input.form ? new FormData(input.form) : { q: input.value }).toString();
        const url = input.dataset.liveSearch + "?" + query;
        try {
          const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
          // A slower, older answer must not overwrite a newer one.
          if (!response.ok || ticket !== latest) return;
          target.innerHTML = await response.text();
          history.replaceState(null, "", "?" + query);
        } catch (error) {
          // Offline or server gone: keep the current list; the form still works by pressing Enter.
        }
      }, 200);
    });
  }
});

// Door activity: a Server-Sent Events feed. Fields are inserted as text, so nothing Kisi sends can become markup.
document.addEventListener("DOMContentLoaded", () => {
  const feed = document.getElementById("activity-feed");
  if (!feed || !window.EventSource) return;
  const problem = document.getElementById("activity-problem");
  const source = new EventSource(feed.dataset.stream);
  source.addEventListener("door", (message) => {
    const event = JSON.parse(message.data);
    const empty = document.getElementById("activity-empty");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = "door-event " + (event.outcome === "denied" ? "bad" : "good");
    item.dataset.club = event.clubName || "";
    item.dataset.door = (event.club || "") + " " + (event.door || "");
    item.dataset.who = event.who || "";
    item.dataset.outcome = event.outcome;
    // "Member · Club · Door · opened" or "… · denied (Kisi's reason)"; a known member links to their page.
    item.append(event.at + " · ");
    if (event.memberID) {
      const link = document.createElement("a");
      link.href = "/admin/members/" + encodeURIComponent(event.memberID);
      link.textContent = event.who;
      item.append(link);
    } else {
      item.append(event.who);
    }
    const where = [event.club, event.door].filter((part) => part).join(" · ");
    const outcome = event.outcome === "denied" && event.reason ? "denied (" + event.reason + ")" : event.outcome;
    item.append(" · " + where + " · " + outcome);
    feed.prepend(item);
    applyFilters(item);
    problem.hidden = true;
  });
  // Filters hide what does not match, the feed keeps everything, so changing a filter shows earlier events too.
  const club = document.getElementById("filter-club");
  const door = document.getElementById("filter-door");
  const member = document.getElementById("filter-member");
  const denied = document.getElementById("filter-denied");
  const matches = (item) => {
    if (!item.dataset.outcome) return true;
    if (club && club.value && item.dataset.club !== club.value) return false;
    if (door && door.value && !item.dataset.door.toLowerCase().includes(door.value.toLowerCase())) return false;
    if (member && member.value && !item.dataset.who.toLowerCase().includes(member.value.toLowerCase())) return false;
    if (denied && denied.checked && item.dataset.outcome !== "denied") return false;
    return true;
  };
  const applyFilters = (item) => { item.hidden = !matches(item); };
  for (const control of [club, door, member, denied]) {
    if (control) control.addEventListener("input", () => feed.querySelectorAll("li").forEach(applyFilters));
  }
  source.addEventListener("problem", (message) => {
    problem.textContent = JSON.parse(message.data).message;
    problem.hidden = false;
  });
});
