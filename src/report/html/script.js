(function () {
  "use strict";
  var root = document.documentElement;
  function fail(msg) {
    root.setAttribute("data-render", "error");
    var box = document.getElementById("render-error");
    if (box) {
      box.textContent = "This page failed its self-check: " + msg;
      box.hidden = false;
    }
  }
  window.addEventListener("error", function (e) { fail(String(e.message)); });
  try {
    var data = JSON.parse(document.getElementById("vcscope-report").textContent);
    var cap = Number(root.getAttribute("data-max-calls")) || 0;
    var want = Math.min(data.calls.length, cap);
    var cards = document.querySelectorAll("article.call-card").length;
    if (cards !== want) {
      fail(cards + " call cards for " + want + " calls in the data");
      return;
    }

    // Flow filter: hide the rows that do not contain every typed word.
    var input = document.getElementById("flow-filter");
    var table = document.querySelector("table.flows tbody");
    if (input && table) {
      var rows = Array.prototype.slice.call(table.rows);
      var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
      var pending = 0;
      input.addEventListener("input", function () {
        clearTimeout(pending);
        pending = setTimeout(function () {
          var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
          for (var i = 0; i < rows.length; i++) {
            var t = texts[i];
            rows[i].hidden = !words.every(function (w) { return t.indexOf(w) >= 0; });
          }
        }, 80);
      });
      input.hidden = false;
    }

    // Copy buttons of the firewall view.
    Array.prototype.forEach.call(document.querySelectorAll(".fw"), function (box) {
      var button = box.querySelector("button.copy");
      var pre = box.querySelector("pre");
      if (!button || !pre) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = pre.textContent;
        var done = function () { button.textContent = "Copied"; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { select(pre); });
        } else {
          select(pre);
        }
      });
    });
    root.setAttribute("data-render", "ok");
    if (window.performance && performance.now) {
      root.setAttribute("data-render-ms", String(Math.round(performance.now())));
    }
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
})();
