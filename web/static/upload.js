// Each photo is sent on its own as the body of a PUT (no form encoding, nothing spooled);
// its verdict is shown as soon as it comes back.
(function () {
  "use strict";
  var results = document.getElementById("results");
  var statusLine = document.getElementById("status");
  var start = document.getElementById("start");
  var picker = document.getElementById("picker");
  var zone = document.getElementById("dropzone");
  var queue = Promise.resolve();

  function item(file, cls, verdict) {
    var li = document.createElement("li");
    li.className = cls;
    var name = document.createElement("span");
    name.className = "file";
    name.textContent = file;
    var words = document.createElement("span");
    words.className = "verdict";
    words.textContent = verdict;
    li.appendChild(name);
    li.appendChild(words);
    results.appendChild(li);
    return li;
  }

  function refresh() {
    return fetch("/api/draft", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      statusLine.textContent = d.message;
      start.disabled = !(d.ready && d.address_proven);
    });
  }

  function send(file) {
    var li = item(file.name, "pending", "Checking…");
    return fetch("/api/draft/photos?name=" + encodeURIComponent(file.name), {
      method: "PUT", body: file, credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream" }
    }).then(function (r) { return r.json(); }).then(function (v) {
      var words = v.accepted ? "Looks good" : (v.sentences && v.sentences.length ? v.sentences.join(" ") : v.message);
      li.className = v.accepted ? "ok" : "bad";
      li.querySelector(".verdict").textContent = words;
      if (v.photo_id) { li.dataset.photo = v.photo_id; addRemove(li, v.photo_id, file.name); }
    }).catch(function () {
      li.className = "bad";
      li.querySelector(".verdict").textContent = "The upload didn't get through — try again.";
    });
  }

  function addRemove(li, id, name) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "link remove"; b.dataset.photo = id;
    b.textContent = "Remove";
    var hidden = document.createElement("span"); hidden.className = "visually-hidden"; hidden.textContent = " " + name;
    b.appendChild(hidden);
    li.appendChild(b);
  }

  function add(files) {
    Array.prototype.forEach.call(files, function (f) { queue = queue.then(function () { return send(f); }); });
    queue = queue.then(refresh);
  }

  results.addEventListener("click", function (e) {
    var b = e.target.closest("button.remove");
    if (!b) { return; }
    fetch("/api/draft/photos/" + encodeURIComponent(b.dataset.photo), { method: "DELETE", credentials: "same-origin" })
      .then(function () { b.closest("li").remove(); return refresh(); });
  });
  picker.addEventListener("change", function () { add(picker.files); picker.value = ""; });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) { e.preventDefault(); zone.classList.remove("over"); add(e.dataTransfer.files); });
  setInterval(function () { if (start.disabled) { refresh(); } }, 3000);
})();
