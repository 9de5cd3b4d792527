// A .wasm file imported as a module is a compiled WebAssembly.Module (Workers module rules).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
