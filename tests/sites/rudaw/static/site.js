/* Rudaw sample outlet: the site-wide script (invented stand-in for the library bundle). */
window.RudawSite = { ready: true, version: "4.2.1" };
