/* The dashboard's only script (the Content-Security-Policy allows no inline
   script): "select all" boxes for ticked lists, and copy buttons. Every page
   works without it; it only saves clicks. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  function boxes(form, name) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name="' + name + '"]'));
  }

  ready(function () {
    // <input type=checkbox class="eh-select-all" data-name="ids">: ticks every box of that name in its form.
    document.querySelectorAll(".eh-select-all").forEach(function (all) {
      var form = all.form || all.closest("form");
      if (!form) return;
      var name = all.getAttribute("data-name") || "ids";
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes(form, name).forEach(function (box) { box.checked = all.checked; });
      });
      form.addEventListener("change", function (event) {
        if (event.target === all || event.target.name !== name) return;
        var list = boxes(form, name);
        all.checked = list.length > 0 && list.every(function (box) { return box.checked; });
      });
    });

    // <button type=button class="eh-copy" data-copy="text">: copies the text, says so.
    document.querySelectorAll(".eh-copy").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = button.getAttribute("data-copy");
        var label = button.textContent;
        function said(word) {
          button.textContent = word;
          setTimeout(function () { button.textContent = label; }, 1500);
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { said("Copied"); }, function () { said("Copy failed"); });
        } else {
          var area = document.createElement("textarea");
          area.value = text;
          area.setAttribute("readonly", "");
          area.className = "eh-offscreen";
          document.body.appendChild(area);
          area.select();
          var ok = false;
          try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
          document.body.removeChild(area);
          said(ok ? "Copied" : "Copy failed");
        }
      });
    });
  });
})();
