/* Rudaw sample outlet: Next.js build manifest stand-in (invented). */
self.__BUILD_MANIFEST = { "/": ["static/chunks/pages/front-5e2b.js"], sortedPages: ["/"] };
self.__BUILD_MANIFEST_CB && self.__BUILD_MANIFEST_CB();
