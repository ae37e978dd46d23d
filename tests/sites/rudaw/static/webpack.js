/* Rudaw sample outlet: Next.js runtime chunk stand-in (invented). */
(self.webpackChunk_N_E = self.webpackChunk_N_E || []).push([["webpack"], {}]);
