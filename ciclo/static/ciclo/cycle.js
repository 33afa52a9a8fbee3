// The cycle form: money inputs formatted as the user types (data-money), and a suggested
// option confirmed when the user touches its question (data-suggested).
// The server reads what this leaves with its one number parser (values.parse_decimal):
// digits grouped by the thousands mark, one decimal mark, at most two decimals.
// Included by the cycle fragment, which htmx may swap in again: bind once, by delegation.
(function () {
  "use strict";
  if (window.cicloCycleBound) return;
  window.cicloCycleBound = true;

  var ANY_MARK = /[.,]/;

  // Where the decimal mark is in `text`, or -1. A mark the user just typed is the decimal mark
  // (thousands marks are put in by this script); otherwise the locale's mark, or the other mark
  // when it is the last one and only one or two digits follow it ("1234.5" pasted in pt-BR).
  function decimalAt(text, typedAt, decimal) {
    if (typedAt >= 0) return typedAt;
    var own = text.lastIndexOf(decimal);
    if (own >= 0) return own;
    var match = /[.,](\d{1,2})$/.exec(text);
    return match ? match.index : -1;
  }

  function group(digits, thousands) {
    digits = digits.replace(/^0+(?=\d)/, "");
    var out = "";
    while (digits.length > 3) {
      out = thousands + digits.slice(-3) + out;
      digits = digits.slice(0, -3);
    }
    return digits + out;
  }

  // Reformat `text` (no R$ prefix); the caret goes back after as many digits as were before it.
  // Only a key typed is held to two decimals: pasted text keeps them all, for the server to refuse.
  function format(text, caret, typedAt, decimal, thousands, decimals) {
    var sign = /^\s*-/.test(text) ? "-" : "";
    var at = decimalAt(text, typedAt, decimal);
    var wholeRaw = (at >= 0 ? text.slice(0, at) : text).replace(/\D/g, "");
    var whole = wholeRaw.replace(/^0+(?=\d)/, "");
    var fraction = at >= 0 ? text.slice(at + 1).replace(/\D/g, "").slice(0, decimals) : "";
    var out = sign + group(whole, thousands) + (at >= 0 ? decimal + fraction : "");
    var pos = sign.length;
    if (at >= 0 && caret > at) {
      var fractionBefore = text.slice(at + 1, caret).replace(/\D/g, "").length;
      pos = out.indexOf(decimal, sign.length) + 1 + Math.min(fractionBefore, fraction.length);
    } else {
      var wanted = text.slice(0, caret).replace(/\D/g, "").length - (wholeRaw.length - whole.length);
      for (var seen = 0; seen < wanted && pos < out.length; pos++) {
        if (/\d/.test(out[pos])) seen++;
      }
    }
    return {text: out, caret: pos};
  }

  // Leave text the parser would refuse (letters, an exponent) as typed: the server says what to type.
  function formattable(text) {
    return /^\s*(R\$\s*)?-?[\d.,\s]*$/.test(text);
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement)) return;
    if (input.hasAttribute("data-money")) {
      var raw = input.value;
      if (!formattable(raw)) return;
      var prefix = /^\s*(R\$\s*)?/.exec(raw)[0].length;
      var text = raw.slice(prefix);
      var caret = Math.max(0, (input.selectionStart === null ? raw.length : input.selectionStart) - prefix);
      var typedAt = -1;
      var typing = event.inputType === "insertText" && event.data && event.data.length === 1;
      if (typing && ANY_MARK.test(event.data)) {
        typedAt = caret - 1;
        var without = text.slice(0, typedAt) + text.slice(typedAt + 1);
        if (without.indexOf(input.dataset.decimal) >= 0) {
          // A second decimal mark is dropped: the first one stays.
          text = without;
          caret = typedAt;
          typedAt = -1;
        }
      }
      var result = format(text, caret, typedAt, input.dataset.decimal, input.dataset.thousands, typing ? 2 : Infinity);
      if (result.text !== raw) {
        input.value = result.text;
        input.setSelectionRange(result.caret, result.caret);
      }
      return;
    }
    var fieldset = input.closest("fieldset[data-suggested]");
    if (fieldset) {
      var confirm = document.getElementById(fieldset.dataset.suggested);
      if (confirm && input !== confirm && input.name.indexOf("q-") === 0) confirm.checked = true;
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement)) return;
    var fieldset = input.closest("fieldset[data-suggested]");
    if (!fieldset) return;
    var confirm = document.getElementById(fieldset.dataset.suggested);
    if (confirm && input !== confirm && input.name.indexOf("q-") === 0) confirm.checked = true;
  });

  // A finished amount always carries its decimals: "1.234" alone could be read two ways
  // (and "1,234" is a decimal comma to the server), so "1.234" becomes "1.234,00" on leaving it.
  function finish(input) {
    var decimal = input.dataset.decimal;
    var value = input.value.trim();
    if (!formattable(value) || !/\d/.test(value)) return;
    if (value.slice(-1) === decimal) value += "00";
    else if (new RegExp("\\" + decimal + "\\d$").test(value)) value += "0";
    else if (value.indexOf(decimal) < 0) value += decimal + "00";
    input.value = value;
  }

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-money")) finish(input);
  });

  // Enter submits without leaving the input: finish every amount first (capture: before htmx sends).
  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll("input[data-money]").forEach(finish);
  }, true);
})();
