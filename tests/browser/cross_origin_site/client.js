// A static page on another origin (like the seed's S3 website) using the JSON API.
// Query string: api (the app's origin), day (YYYY-MM-DD), name, email.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var api = params.get("api");
  var day = params.get("day");
  var status = document.getElementById("status");

  function finish(state, result) {
    document.getElementById("result").textContent = JSON.stringify(result);
    status.textContent = state;
    document.body.setAttribute("data-state", state);
  }

  var listing = {};
  fetch(api + "/appointment-slot?from=" + day + "&to=" + day)
    .then(function (response) {
      listing.status = response.status;
      listing.xCache = response.headers.get("X-Cache");
      return response.json();
    })
    .then(function (slots) {
      listing.ids = slots.map(function (slot) { return slot.appointmentId; });
      var list = document.getElementById("slots");
      slots.forEach(function (slot) {
        var item = document.createElement("li");
        item.textContent = slot.appointmentDate + " " + slot.appointmentTime;
        list.appendChild(item);
      });
      return fetch(api + "/book-appointment", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          appointmentId: slots[0].appointmentId,
          patientName: params.get("name"),
          patientEmail: params.get("email"),
          notes: "Booked from the partner site"
        })
      });
    })
    .then(function (response) {
      return response.json().then(function (body) {
        finish("booked", { listing: listing, status: response.status, body: body });
      });
    })
    .catch(function (error) {
      finish("failed", { listing: listing, error: String(error) });
    });
})();
