/* Threadkeeper dashboard: keyboard focus and selection. Everything else is htmx.
 *
 * One script for every page that lists comments ([data-card]: queue cards,
 * thread nodes, an author's cards, any future list of cards with the same
 * action forms): j/k move the focus between cards (j on the last one loads
 * more), a/f/h/r press the card's action button (or the bulk bar's when
 * comments are selected), 1-9 and 0 pick the card's reason, x selects, c shows
 * context (in a thread: goes to the parent), z collapses a thread branch,
 * o opens the thread, u undoes, ? shows help.
 *
 * Rules: a key only ever acts on a card that is visible and marked current
 * (one off screen is never acted on: the key moves the mark into view
 * instead); keys typed in a text field, select or editable element are never
 * shortcuts, and Enter there never submits; a failed request (session ended,
 * network, server error) says so in the status line and changes no card.
 */
(function () {
  "use strict";

  var CARD = "[data-card]";
  var currentId = null;
  var lastChecked = null;
  var actedOn = null;
  var moveAfterLoad = false;
  var STORE = "tk-current:" + window.location.pathname + window.location.search;

  function cards() {
    return Array.prototype.slice.call(document.querySelectorAll(CARD)).filter(function (c) {
      return c.getClientRects().length > 0; // not inside a collapsed branch
    });
  }

  function byId(id) { return id ? document.getElementById(id) : null; }

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    if (el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  // The part of the window not covered by the sticky top bar or the bottom dock.
  function viewport() {
    var top = 0, bottom = window.innerHeight;
    var bar = document.querySelector(".topbar");
    if (bar && getComputedStyle(bar).position === "sticky") top = Math.max(0, bar.getBoundingClientRect().bottom);
    var dock = document.querySelector(".dock");
    if (dock) bottom = Math.min(bottom, dock.getBoundingClientRect().top);
    return { top: top, bottom: bottom };
  }

  // A card is in view when enough of it to recognise is on screen between the
  // top bar and the dock: 24 px of it (a line of text), or all of it when shorter.
  function headInView(r, v) { return r.top >= v.top - 4 && r.top <= v.bottom - 24; }

  function isInView(card) {
    if (!card || !card.isConnected || !card.getClientRects().length) return false;
    var r = card.getBoundingClientRect(), v = viewport();
    var shown = Math.min(r.bottom, v.bottom) - Math.max(r.top, v.top);
    return shown >= Math.min(24, r.height - 1);
  }

  function firstInView() {
    var list = cards(), v = viewport(), fallback = null;
    for (var i = 0; i < list.length; i++) {
      if (headInView(list[i].getBoundingClientRect(), v)) return list[i];
      if (!fallback && isInView(list[i])) fallback = list[i];
    }
    return fallback;
  }

  function mark(card, scroll, remember) {
    cards().forEach(function (c) { if (c !== card) c.classList.remove("is-current"); });
    if (!card) { currentId = null; return; }
    currentId = card.id;
    card.classList.add("is-current");
    card.focus({ preventScroll: true });
    if (scroll !== false) card.scrollIntoView({ block: "nearest" });
    if (remember === false) return;
    try { window.sessionStorage.setItem(STORE, card.id); } catch (e) { /* private mode */ }
  }

  function focusCard(index, scroll) {
    var list = cards();
    if (!list.length) { mark(null); return; }
    mark(list[Math.max(0, Math.min(index, list.length - 1))], scroll);
  }

  function currentIndex() {
    var card = byId(currentId);
    return card ? cards().indexOf(card) : -1;
  }

  function say(text, kind) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    flash.textContent = text;
    flash.classList.toggle("flash-error", kind === "error");
  }

  // The card a key may act on: the current one, if it is on screen. Otherwise
  // the mark moves to the first card in view and nothing is done.
  function actionableCard() {
    var card = byId(currentId);
    if (card && isInView(card)) return card;
    var seen = firstInView();
    if (!seen) { say("Move to a comment first (j / k)."); return null; }
    mark(seen, false);
    say(card ? "The marked comment was out of view; now marked: the first one in view. Press the key again to act on it."
             : "Now marked: the first comment in view. Press the key again to act on it.");
    return null;
  }

  function selectedBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-select]:checked"));
  }

  function updateSelection() {
    var n = selectedBoxes().length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = n + " selected";
    document.body.classList.toggle("has-selection", n > 0);
    document.querySelectorAll(CARD).forEach(function (c) {
      var box = c.querySelector("[data-select]");
      c.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  function act(action) {
    if (selectedBoxes().length) {
      var bulk = document.getElementById("bulk-form");
      var bulkButton = bulk && bulk.querySelector('button[value="' + action + '"]');
      if (bulkButton) { bulkButton.click(); return; }
    }
    var card = actionableCard();
    if (!card) return;
    var button = card.querySelector('button[data-action="' + action + '"]');
    if (!button || button.disabled) {
      say("Cannot " + action + " this comment: it is " + (card.className.match(/state-(\w+)/) || [0, "in another state"])[1] + ".");
      return;
    }
    actedOn = card.id;
    button.click();
  }

  function pickReason(digit) {
    var card = actionableCard();
    if (!card) return;
    var select = card.querySelector("select[data-reason]");
    if (!select) return;
    var index = digit === 0 ? 9 : digit - 1;
    if (index >= select.options.length) return;
    select.selectedIndex = index;
    say("Reason for this comment: " + select.options[index].text + ".");
  }

  function toggleSelect(box, shift) {
    if (shift && lastChecked && lastChecked !== box) {
      var boxes = cards().map(function (c) { return c.querySelector("[data-select]"); }).filter(Boolean);
      var a = boxes.indexOf(lastChecked), b = boxes.indexOf(box);
      if (a !== -1 && b !== -1) {
        var lo = Math.min(a, b), hi = Math.max(a, b);
        for (var i = lo; i <= hi; i++) boxes[i].checked = box.checked;
      }
    }
    lastChecked = box;
    updateSelection();
  }

  function next() {
    var list = cards(), index = currentIndex();
    if (index < list.length - 1) { focusCard(index + 1); return; }
    var more = document.querySelector(".more a, [data-more]");
    if (more) {
      moveAfterLoad = true;
      say("Loading more…");
      more.click();
    } else if (list.length) {
      focusCard(index);
      say("That was the last comment here.");
    }
  }

  // --- thread view: collapsible branches ---------------------------------------

  function depthOf(node) { return parseInt(node.dataset.depth || "0", 10); }

  function branchReplies(node) {
    var replies = [], depth = depthOf(node), el = node.nextElementSibling;
    while (el && el.matches && el.matches("[data-depth]") && depthOf(el) > depth) {
      replies.push(el);
      el = el.nextElementSibling;
    }
    return replies;
  }

  function setCollapsed(node, collapsed) {
    var replies = branchReplies(node);
    if (!replies.length) return 0;
    node.classList.toggle("is-collapsed", collapsed);
    var toggle = node.querySelector("[data-collapse]");
    if (toggle) toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    var note = node.querySelector(".collapsed-note");
    if (note) {
      note.hidden = !collapsed;
      note.textContent = collapsed ? replies.length + (replies.length === 1 ? " reply" : " replies") + " hidden" : "";
    }
    applyCollapse();
    return replies.length;
  }

  // Hide every node under a collapsed one (nested collapses included).
  function applyCollapse() {
    var nodes = document.querySelectorAll("#tree [data-depth]");
    var hideBelow = null;
    nodes.forEach(function (node) {
      var depth = depthOf(node);
      if (hideBelow !== null && depth > hideBelow) { node.hidden = true; return; }
      hideBelow = null;
      node.hidden = false;
      if (node.classList.contains("is-collapsed")) hideBelow = depth;
    });
    // A toggle only where there are replies to fold.
    nodes.forEach(function (node) {
      var toggle = node.querySelector("[data-collapse]");
      if (toggle) toggle.hidden = !branchReplies(node).length;
    });
  }

  function toggleBranch(node) {
    if (!node || !node.matches("[data-depth]")) return;
    var collapsed = !node.classList.contains("is-collapsed");
    var n = setCollapsed(node, collapsed);
    if (!n) { say("No replies to collapse."); return; }
    say((collapsed ? "Collapsed " : "Expanded ") + n + (n === 1 ? " reply." : " replies."));
  }

  // --- keys ----------------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      // Enter in a field of an action form never acts (the form's default
      // button is disabled too): the moderator chooses the action by its key.
      if (event.key === "Enter" && event.target.form && event.target.tagName === "INPUT" &&
          event.target.form.matches(".actions, .bulkbar")) {
        event.preventDefault();
        say("Enter does not act. Press Esc, then a key (a, f, h, r) or click a button.");
      }
      return;
    }
    var help = document.getElementById("help");
    if (help && help.open) return; // the dialog handles Esc itself
    var card, inThread = !!document.getElementById("tree");
    if (/^[0-9]$/.test(event.key)) { pickReason(parseInt(event.key, 10)); event.preventDefault(); return; }
    switch (event.key) {
      case "j": next(); break;
      case "k": focusCard(Math.max(0, currentIndex() - 1)); break;
      case "a": act("approve"); break;
      case "f": act("flag"); break;
      case "h": act("hide"); break;
      case "r": act("restore"); break;
      case "x":
        card = actionableCard();
        var box = card && card.querySelector("[data-select]");
        if (box) { box.checked = !box.checked; toggleSelect(box, false); }
        break;
      case "c":
        card = actionableCard();
        if (!card) break;
        if (inThread) {
          var parent = byId(card.dataset.parent);
          if (parent && parent.getClientRects().length) { mark(parent); say("The comment it replies to."); }
          else if (card.dataset.parent) say("Its parent is further up the thread (not loaded here).");
          else say("A top-level comment: no parent.");
        } else {
          var ctx = card.querySelector("[data-context]");
          if (ctx) ctx.click();
        }
        break;
      case "z":
        card = actionableCard();
        if (card && inThread) toggleBranch(card);
        break;
      case "w":
        card = actionableCard();
        var why = card && card.querySelector("[data-why]");
        if (why) why.click();
        break;
      case "o":
        card = actionableCard();
        var link = card && card.querySelector("[data-open]");
        if (link) window.location.assign(link.href);
        break;
      case "u":
        var undo = document.getElementById("undo-button");
        if (undo) undo.click(); else say("Nothing to undo.");
        break;
      case "?":
        if (help) help.showModal();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select]")) {
      toggleSelect(target, event.shiftKey);
    } else if (target.closest && target.closest("[data-select-all]")) {
      var boxes = document.querySelectorAll("[data-select]");
      var all = selectedBoxes().length < boxes.length;
      boxes.forEach(function (b) { b.checked = all; });
      updateSelection();
    } else if (target.closest && target.closest("[data-help-open]")) {
      var help = document.getElementById("help");
      if (help) help.showModal();
    } else if (target.closest && target.closest("[data-collapse]")) {
      toggleBranch(target.closest(CARD));
    } else if (target.closest && target.closest("[data-collapse-all]")) {
      document.querySelectorAll("#tree [data-depth]").forEach(function (n) {
        if (depthOf(n) === 0 && branchReplies(n).length) n.classList.add("is-collapsed");
      });
      applyCollapse();
      refreshCollapsedNotes();
    } else if (target.closest && target.closest("[data-expand-all]")) {
      document.querySelectorAll("#tree .is-collapsed").forEach(function (n) { n.classList.remove("is-collapsed"); });
      applyCollapse();
      refreshCollapsedNotes();
    }
    var card = target.closest && target.closest(CARD);
    if (card && card.id !== currentId) mark(card, false);
  });

  function refreshCollapsedNotes() {
    document.querySelectorAll("#tree [data-depth]").forEach(function (n) {
      var collapsed = n.classList.contains("is-collapsed");
      var note = n.querySelector(".collapsed-note"), toggle = n.querySelector("[data-collapse]");
      var count = branchReplies(n).length;
      if (toggle) toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
      if (note) { note.hidden = !collapsed; note.textContent = collapsed ? count + (count === 1 ? " reply" : " replies") + " hidden" : ""; }
    });
  }

  // The bulk bar's reason, when chosen, is set on every selected card: what
  // each comment will be recorded with is what its card shows.
  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-bulk-reason]")) return;
    var value = event.target.value;
    if (!value) return;
    selectedBoxes().forEach(function (box) {
      var card = box.closest(CARD), select = card && card.querySelector("select[data-reason]");
      if (select) select.value = value;
    });
    say("Reason set on the " + selectedBoxes().length + " selected comment(s).");
  });

  // A bulk action carries each selected card's own reason (r<id>).
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.id !== "bulk-form") return;
    selectedBoxes().forEach(function (box) {
      var card = box.closest(CARD), select = card && card.querySelector("select[data-reason]");
      if (select) event.detail.parameters["r" + box.value] = select.value;
    });
  });

  // --- failures: visible, and nothing changes on the page ------------------------

  // django-htmx's DEBUG helper replaces the whole page with an error response;
  // a moderator's page must stay as it was, with the message in the status line.
  window.addEventListener("htmx:beforeOnLoad", function (event) {
    if (event.detail.xhr && event.detail.xhr.status >= 400) event.stopPropagation();
  }, true);

  function failed(text) {
    actedOn = null;
    moveAfterLoad = false;
    say(text, "error");
    var card = byId(currentId);
    if (card) card.classList.add("is-current");
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr, status = xhr.status;
    var body = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0 ? (xhr.responseText || "").slice(0, 300) : "";
    if (status === 401) failed(body || "Your session has ended: nothing was done. Reload the page to sign in again.");
    else if (status === 403) failed("Refused (403): nothing was done. Your sign-in or its security token is no longer valid, or you may not moderate. Reload the page.");
    else if (status >= 500) failed("The server failed (HTTP " + status + "): nothing was changed. Try again; if it keeps failing, tell an administrator.");
    else failed("Not done (HTTP " + status + ")" + (body ? ": " + body : "."));
  });
  document.addEventListener("htmx:sendError", function () {
    failed("Network error: the server could not be reached, nothing was changed. Check the connection and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    failed("The server did not answer in time: nothing was changed. Try again.");
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var flash = document.getElementById("flash");
    if (flash && flash.classList.contains("flash-error") && event.detail.elt.closest("form")) say("");
  });

  // After htmx swaps cards out of band the focused element is gone: put the
  // focus back, one card further on after a keyboard action that succeeded,
  // and keep the focus ring on the current card (a swapped card's new classes
  // arrive only after htmx's settle delay).
  document.addEventListener("htmx:afterSettle", restoreFocus);
  document.addEventListener("htmx:oobAfterSwap", function () { window.setTimeout(restoreFocus, 0); });

  function restoreFocus() {
    updateSelection();
    applyCollapse();
    var list = cards();
    if (moveAfterLoad) {
      var at = currentIndex();
      if (at !== -1 && at < list.length - 1) {
        moveAfterLoad = false;
        focusCard(at + 1);
        say("");
        return;
      }
    }
    if (actedOn) {
      var index = list.findIndex(function (c) { return c.id === actedOn; });
      if (index === -1) return;
      var failedCard = list[index].querySelector(".notice-conflict, .notice-error");
      actedOn = null;
      focusCard(failedCard ? index : Math.min(index + 1, list.length - 1));
      return;
    }
    var card = byId(currentId);
    if (!card) return;
    card.classList.add("is-current");
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    card.focus({ preventScroll: true });
  }

  // On load, and on coming Back to a page: the mark goes to the card the
  // moderator was on if it is in view, else the first card in view; never to
  // a card off screen.
  function placeMark() {
    var target = null;
    try {
      target = window.location.hash ? document.querySelector(window.location.hash + CARD) : null;
    } catch (e) { target = null; } // a hash that is not a valid selector
    if (target) { mark(target, true, false); return; }
    var remembered = null;
    try { remembered = byId(window.sessionStorage.getItem(STORE)); } catch (e) { remembered = null; }
    if (remembered && isInView(remembered)) { mark(remembered, false, false); return; }
    var current = byId(currentId);
    if (current && isInView(current)) { mark(current, false, false); return; }
    var seen = firstInView();
    if (seen) mark(seen, false, false);
    else mark(null);
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyCollapse();
    updateSelection();
    placeMark();
  });
  // Scroll restoration (Back) happens after DOMContentLoaded; a page from the
  // back/forward cache fires only pageshow.
  window.addEventListener("pageshow", function () { window.setTimeout(placeMark, 0); });
  window.addEventListener("load", function () { window.setTimeout(placeMark, 0); });
})();
