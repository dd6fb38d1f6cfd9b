/* Threadkeeper dashboard: keyboard focus and selection. Everything else is htmx.
 *
 * j/k move the focus between cards, a/f/h/r press the card's action button
 * (or the bulk bar's when comments are selected), x selects, c shows context,
 * o opens the thread, u undoes, ? shows help. Keys typed in a text field,
 * select or editable element never trigger a shortcut; Esc leaves the field.
 */
(function () {
  "use strict";

  var CARD = "[data-card]";
  var current = -1;
  var lastChecked = null;
  var actedOn = null;

  function cards() { return Array.prototype.slice.call(document.querySelectorAll(CARD)); }

  function isTyping(el) {
    if (!el || el === document.body) return false;
    var tag = el.tagName;
    if (el.isContentEditable || tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function focusCard(index, scroll) {
    var list = cards();
    if (!list.length) { current = -1; return; }
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (c) { c.classList.remove("is-current"); });
    current = index;
    var card = list[index];
    card.classList.add("is-current");
    card.focus({ preventScroll: true });
    if (scroll !== false) card.scrollIntoView({ block: "nearest" });
  }

  function currentCard() {
    var list = cards();
    return current >= 0 && current < list.length ? list[current] : null;
  }

  function selectedBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-select]:checked"));
  }

  function updateSelection() {
    var n = selectedBoxes().length;
    var label = document.getElementById("selected-count");
    if (label) label.textContent = n + " selected";
    document.body.classList.toggle("has-selection", n > 0);
    cards().forEach(function (c) {
      var box = c.querySelector("[data-select]");
      c.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  function say(text) {
    var flash = document.getElementById("flash");
    if (flash) flash.textContent = text;
  }

  function act(action) {
    if (selectedBoxes().length) {
      var bulk = document.getElementById("bulk-form");
      var bulkButton = bulk && bulk.querySelector('button[value="' + action + '"]');
      if (bulkButton) { bulkButton.click(); return; }
    }
    var card = currentCard();
    if (!card) { say("Move to a comment first (j / k)."); return; }
    var button = card.querySelector('button[data-action="' + action + '"]');
    if (!button || button.disabled) {
      say("Cannot " + action + " this comment: it is " + (card.className.match(/state-(\w+)/) || [0, "in another state"])[1] + ".");
      return;
    }
    actedOn = card.id;
    button.click();
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

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var help = document.getElementById("help");
    if (help && help.open) return; // the dialog handles Esc itself
    var card;
    switch (event.key) {
      case "j": focusCard(current + 1); break;
      case "k": focusCard(current - 1); break;
      case "a": act("approve"); break;
      case "f": act("flag"); break;
      case "h": act("hide"); break;
      case "r": act("restore"); break;
      case "x":
        card = currentCard();
        var box = card && card.querySelector("[data-select]");
        if (box) { box.checked = !box.checked; toggleSelect(box, false); }
        break;
      case "c":
        card = currentCard();
        var ctx = card && card.querySelector("[data-context]");
        if (ctx) ctx.click();
        break;
      case "w":
        card = currentCard();
        var why = card && card.querySelector("[data-why]");
        if (why) why.click();
        break;
      case "o":
        card = currentCard();
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
    }
    var card = target.closest && target.closest(CARD);
    if (card) {
      var index = cards().indexOf(card);
      if (index !== current) {
        cards().forEach(function (c) { c.classList.remove("is-current"); });
        current = index;
        card.classList.add("is-current");
      }
    }
  });

  // After htmx swaps cards out of band the focused element is gone: put the
  // focus back, one card further on after a keyboard action that succeeded.
  document.addEventListener("htmx:afterSettle", restoreFocus);
  document.addEventListener("htmx:oobAfterSwap", function () { window.setTimeout(restoreFocus, 0); });

  function restoreFocus() {
    updateSelection();
    var list = cards();
    if (actedOn) {
      var index = list.findIndex(function (c) { return c.id === actedOn; });
      if (index === -1) return;
      var failed = list[index].querySelector(".notice-conflict, .notice-error");
      actedOn = null;
      focusCard(failed ? index : index + 1);
      return;
    }
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    if (current >= 0) focusCard(current, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = cards();
    var target = null;
    try {
      target = window.location.hash ? document.querySelector(window.location.hash + CARD) : null;
    } catch (e) { target = null; } // a hash that is not a valid selector
    if (target) focusCard(list.indexOf(target));
    else if (list.length) focusCard(0, false);
    updateSelection();
  });
})();
