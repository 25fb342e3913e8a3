// Sends a SAML message on to the service (HTTP-POST binding) as soon as the page is there.
// Without script the page shows a button that does the same.
document.querySelectorAll("form[data-auto-submit]").forEach(function (form) {
  form.submit();
});
