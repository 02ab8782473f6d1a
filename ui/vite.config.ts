import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build is served by outpost-web and loaded by the Tauri window, both under a CSP without
// inline script: Vite emits module scripts and stylesheets as files.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
  },
});
