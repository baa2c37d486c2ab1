// Keyboard shortcuts for the inbox and a draft's page. Every action is also a button or a
// link, so the pages work without this file.
(function () {
  "use strict";

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  function submit(form) {
    if (form) form.requestSubmit();
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    field.focus();
    if (field.select) field.select();
    return true;
  }

  // The Undo button of the last decision's message, if the page shows one.
  function undoForm() {
    return document.querySelector('form[data-key="undo"]');
  }

  function toggleHelp(show) {
    var help = document.getElementById("keys-help");
    if (help) help.hidden = show === undefined ? !help.hidden : !show;
  }

  function inboxKeys(inbox, key) {
    var rows = Array.prototype.slice.call(inbox.querySelectorAll("li.draft"));
    if (!rows.length) return false;
    var index = rows.findIndex(function (row) { return row.classList.contains("selected"); });
    if (index < 0) index = 0;
    var row = rows[index];
    function select(next) {
      row.classList.remove("selected");
      rows[next].classList.add("selected");
      rows[next].scrollIntoView({block: "nearest"});
    }
    switch (key) {
      case "j": if (index + 1 < rows.length) select(index + 1); return true;
      case "k": if (index > 0) select(index - 1); return true;
      case "Enter": case "o": window.location.href = row.dataset.href; return true;
      case "e": window.location.href = row.dataset.href + "#edit"; return true;
      case "c": case "r": submit(row.querySelector('form[data-key="' + key + '"]')); return true;
      case "u": submit(row.querySelector('form[data-key="u"]') || undoForm()); return true;
    }
    return false;
  }

  function draftKeys(page, key) {
    switch (key) {
      case "j": if (page.dataset.next) window.location.href = page.dataset.next; return true;
      case "k": if (page.dataset.previous) window.location.href = page.dataset.previous; return true;
      case "c": submit(document.querySelector('form[data-key="c"]')); return true;
      case "u": submit(page.querySelector('form[data-key="u"]') || undoForm()); return true;
      case "r": return focusField('form[data-key="r"] input[name="reason"]');
      case "e": return focusField('textarea[data-key="e"]');
      case "t": return focusField('input[data-key="t"]');
      case "a": return focusField('input[data-key="a"]');
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    var handled = false;
    if (key === "?") { toggleHelp(); handled = true; }
    else if (key === "Escape") { toggleHelp(false); handled = true; }
    else if (key === "i") { window.location.href = "/"; handled = true; }
    else {
      var inbox = document.getElementById("inbox");
      var page = document.getElementById("draft");
      if (inbox) handled = inboxKeys(inbox, key);
      else if (page) handled = draftKeys(page, key);
    }
    if (handled) event.preventDefault();
  });
})();
