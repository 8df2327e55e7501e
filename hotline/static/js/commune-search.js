// Search-as-you-type over the commune list, with or without Vietnamese diacritics.
// Each <option> carries data-search: the server's folded form of its name ("phuong tan lap").
(function () {
  "use strict";

  function fold(text) {
    return text
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .replace(/[đð]/g, "d")
      .replace(/[ĐÐ]/g, "D")
      .toLowerCase()
      .replace(/['’‘`´ʼʻ′]/g, "")
      .replace(/[^a-z0-9]+/g, " ")
      .trim();
  }

  function init() {
    var input = document.getElementById("commune-search");
    var select = document.getElementById("commune");
    if (!input || !select) {
      return;
    }
    var all = Array.prototype.slice.call(select.options);
    var placeholder = all.shift();
    input.classList.remove("d-none");

    input.addEventListener("input", function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      var chosen = select.value;
      var matches = all.filter(function (option) {
        var key = " " + (option.getAttribute("data-search") || "");
        return words.every(function (word) {
          return key.indexOf(" " + word) !== -1;
        });
      });
      select.replaceChildren(placeholder);
      matches.forEach(function (option) {
        select.appendChild(option);
      });
      if (matches.length === 1) {
        select.value = matches[0].value;
      } else if (matches.some(function (o) { return o.value === chosen; })) {
        select.value = chosen;
      } else {
        select.value = "";
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
