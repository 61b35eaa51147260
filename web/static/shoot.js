// Polls the shoot's status once a second until it is finished.
(function () {
  "use strict";
  var box = document.getElementById("shoot");
  if (!box || box.dataset.finished === "yes") { return; }
  var id = box.dataset.shoot;
  function tick() {
    fetch("/api/shoots/" + encodeURIComponent(id), { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      document.getElementById("stage").textContent = s.stage;
      document.getElementById("message").textContent = s.message;
      var p = s.percent || 0;
      var bar = document.getElementById("progress");
      bar.value = p; bar.textContent = p + "%";
      document.getElementById("percent").textContent = p + "%";
      if (s.status === "delivered") { document.getElementById("result").hidden = false; }
      if (s.finished) {
        var c = document.getElementById("cancel-form");
        if (c) { c.remove(); }
        return;
      }
      setTimeout(tick, 1000);
    }).catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
