// Batch by score band: drag across the histogram's bars (or click one) to set the
// band; the range inputs follow and htmx refreshes "N of M selected" and the sample.
(function () {
  "use strict";
  function round(value) { return Math.round(value * 100) / 100; }

  function mark(band) {
    var lo = parseFloat(band.querySelector("[data-band-lo]").value);
    var hi = parseFloat(band.querySelector("[data-band-hi]").value);
    band.querySelectorAll("[data-bin]").forEach(function (bin) {
      var inside = parseFloat(bin.dataset.low) >= lo - 1e-9 && parseFloat(bin.dataset.high) <= hi + 1e-9;
      bin.classList.toggle("in-band", inside);
    });
  }

  function setRange(band, a, b) {
    var first = Math.min(a, b), last = Math.max(a, b);
    var bins = band.querySelectorAll("[data-bin]");
    band.querySelector("[data-band-lo]").value = round(parseFloat(bins[first].dataset.low));
    band.querySelector("[data-band-hi]").value = round(parseFloat(bins[last].dataset.high));
    mark(band);
  }

  function changed(band) {
    var form = band.querySelector("[data-band-range]");
    if (window.htmx) { window.htmx.trigger(form, "band-changed"); }
  }

  var drag = null;
  document.addEventListener("pointerdown", function (event) {
    var bin = event.target.closest && event.target.closest("[data-bin]");
    if (!bin) { return; }
    var band = bin.closest("[data-band]");
    event.preventDefault();
    drag = { band: band, start: parseInt(bin.dataset.bin, 10), moved: false };
    setRange(band, drag.start, drag.start);
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    var el = document.elementFromPoint(event.clientX, event.clientY);
    var bin = el && el.closest && el.closest("[data-bin]");
    if (bin && bin.closest("[data-band]") === drag.band) {
      drag.moved = true;
      setRange(drag.band, drag.start, parseInt(bin.dataset.bin, 10));
    }
  });
  document.addEventListener("pointerup", function () {
    if (!drag) { return; }
    var band = drag.band;
    drag = null;
    changed(band);
  });
  // Keyboard: Enter / Space on a bar picks that bin alone (the inputs take any range).
  document.addEventListener("click", function (event) {
    var bin = event.target.closest && event.target.closest("[data-bin]");
    if (!bin || event.detail !== 0) { return; }
    var band = bin.closest("[data-band]");
    var index = parseInt(bin.dataset.bin, 10);
    setRange(band, index, index);
    changed(band);
  });
  document.addEventListener("input", function (event) {
    var band = event.target.closest && event.target.closest("[data-band]");
    if (band && event.target.matches("[data-band-lo], [data-band-hi]")) { mark(band); }
  });
}());
