/** ONNX graph building: IR + op helpers, reverse-mode differentiation, serialisation. */
export * from './ir';
export { differentiate, unbroadcast, GRADIENT_RULES } from './autodiff';
export { serialize, liveNodes, OPSET } from './serialize';
