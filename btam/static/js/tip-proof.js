/* The tip line's proof of work (btam/security/proof_of_work.py).
 *
 * While the tip line is flooded, the tip form carries a challenge. This finds a number whose
 * SHA-256, written after the challenge and a colon, starts with the asked number of zero
 * bits, puts it in the form, and lets the tip go: a few seconds of this browser's time, so
 * that a flood costs its sender and no tipster is turned away. No third party, no cookie,
 * nothing stored; the check starts as soon as the page opens, while the tipster writes.
 */
(function () {
  "use strict";

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Int32Array(64);

  function rotr(x, n) {
    return (x >>> n) | (x << (32 - n));
  }

  /* The first 32 bits of SHA-256 of an ASCII text (all the check ever looks at). */
  function firstWord(text) {
    var length = text.length;
    var blocks = ((length + 8) >> 6) + 1;
    var m = new Int32Array(blocks * 16);
    var i, t;
    for (i = 0; i < length; i++) {
      m[i >> 2] |= text.charCodeAt(i) << (24 - (i & 3) * 8);
    }
    m[length >> 2] |= 0x80 << (24 - (length & 3) * 8);
    m[blocks * 16 - 1] = length * 8;
    var h0 = 0x6a09e667, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372, h3 = 0xa54ff53a | 0;
    var h4 = 0x510e527f, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    for (var block = 0; block < m.length; block += 16) {
      for (t = 0; t < 64; t++) {
        if (t < 16) {
          W[t] = m[block + t];
        } else {
          var x = W[t - 15], y = W[t - 2];
          var s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
          var s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
          W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
        }
      }
      var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (t = 0; t < 64; t++) {
        var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
        var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0;
        d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    return h0;
  }

  /* Counts up from 0 in slices, so that the page stays responsive while it works. */
  function solve(challenge, bits, done) {
    var counter = 0;
    function slice() {
      var end = counter + 20000;
      for (; counter < end; counter++) {
        if (Math.clz32(firstWord(challenge + ":" + counter)) >= bits) {
          done(String(counter));
          return;
        }
      }
      setTimeout(slice, 0);
    }
    slice();
  }

  var form = document.querySelector("form[data-proof-bits]");
  if (!form) {
    return;
  }
  var answer = form.elements.namedItem("proof_answer");
  var challenge = form.elements.namedItem("proof_challenge");
  var progress = document.getElementById("proof-progress");
  var bits = parseInt(form.getAttribute("data-proof-bits"), 10);
  var solved = false;
  var waiting = form.hasAttribute("data-proof-send");

  function say(text) {
    if (progress) {
      progress.textContent = text;
    }
  }

  form.addEventListener("submit", function (event) {
    if (solved) {
      return;
    }
    event.preventDefault();
    waiting = true;
    say("Finishing the check; your tip is sent as soon as it is done. Keep this page open.");
  });

  say(waiting ? "Checking; your tip is sent as soon as it is done. Keep this page open."
              : "Checking in the background while you write.");
  solve(challenge.value, bits, function (found) {
    answer.value = found;
    solved = true;
    if (waiting) {
      say("Check done. Sending your tip…");
      form.submit();
    } else {
      say("Check done: your tip can be sent.");
    }
  });
})();
