/* Rudaw sample outlet: draws a front's "latest" list from the flight data in the page
   (self.__next_f), as the real site's client code does.  Invented. */
(function () {
  function payload() {
    var text = "";
    (self.__next_f || []).forEach(function (entry) {
      if (entry && entry[0] === 1 && typeof entry[1] === "string") { text += entry[1]; }
    });
    var lines = text.split("\n");
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].indexOf("7:") === 0) { return JSON.parse(lines[i].slice(2)); }
    }
    return null;
  }
  function draw() {
    var data = payload();
    var slot = document.querySelector('[data-slot="latest"]');
    if (!data || !slot) { return; }
    var edition = location.pathname.split("/").filter(Boolean).pop();
    var list = document.createElement("ul");
    list.className = "latest-list";
    (data.latest || []).forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/" + edition + "/categories/" + item.categorySlug + "/" + item.ID;
      a.textContent = item.Title;
      li.appendChild(a);
      list.appendChild(li);
    });
    slot.innerHTML = "";
    slot.appendChild(list);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
