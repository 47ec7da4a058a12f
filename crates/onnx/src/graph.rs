//! Building an ONNX graph ([`Graph`]): nodes with fresh output names, initializers from
//! parameters, attributes, and the model around it.

use prost::Message as _;

use crate::proto::{
    attribute_type, data_type, AttributeProto, DimValue, Dimension, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto,
};

/// The ONNX operator set an export targets.
pub const OPSET: i64 = 17;
/// The IR version of that opset.
pub const IR_VERSION: i64 = 8;

/// A graph being built.
#[derive(Default)]
pub struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    next: usize,
}

/// An attribute.
pub fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    }
}

/// An attribute.
pub fn ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..AttributeProto::default()
    }
}

/// An attribute.
pub fn string(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: s.as_bytes().to_vec(),
        r#type: attribute_type::STRING,
        ..AttributeProto::default()
    }
}

/// An attribute.
pub fn strings(name: &str, s: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        strings: s.iter().map(|x| x.as_bytes().to_vec()).collect(),
        r#type: attribute_type::STRINGS,
        ..AttributeProto::default()
    }
}

/// A tensor-valued attribute (a `Constant`'s value).
pub fn tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        t: Some(t),
        r#type: attribute_type::TENSOR,
        ..AttributeProto::default()
    }
}

/// A float tensor.
pub fn f32_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// An int64 tensor.
pub fn i64_tensor(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: data_type::INT64,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A dimension: a size, or a symbolic name.
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A named, dynamic one.
    Named(&'static str),
}

fn value_info(name: &str, elem: i32, dims: &[Dim], doc: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: elem,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Dim::Fixed(n) => DimValue::Value(*n as i64),
                                Dim::Named(s) => DimValue::Param(s.to_string()),
                            }),
                        })
                        .collect(),
                }),
            }),
        }),
        doc_string: doc.into(),
    }
}

impl Graph {
    /// A node `op` over `inputs` (`""`: an omitted optional input) with `outputs` fresh
    /// outputs; their names.
    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: usize,
        attribute: Vec<AttributeProto>,
    ) -> Vec<String> {
        self.next += 1;
        let id = self.next;
        let out: Vec<String> = (0..outputs).map(|k| format!("{op}_{id}_{k}")).collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: out.clone(),
            name: format!("{op}_{id}"),
            op_type: op.into(),
            attribute,
        });
        out
    }

    /// A node `op` with one output; its name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        self.node_n(op, inputs, 1, attribute).remove(0)
    }

    /// The last node's output renamed `name` (a graph output).
    pub fn rename_last(&mut self, name: &str) {
        if let Some(n) = self.nodes.last_mut() {
            n.output[0] = name.into();
        }
    }

    /// A constant initializer; its name.
    pub fn init(&mut self, t: TensorProto) -> String {
        let name = t.name.clone();
        self.initializers.push(t);
        name
    }

    /// The int64 vector constant `name` (made on first use; later uses must ask for the
    /// same values); its name.
    pub fn i64s(&mut self, name: &str, values: &[i64]) -> String {
        if !self.initializers.iter().any(|t| t.name == name) {
            self.init(i64_tensor(name, &[values.len()], values));
        }
        name.to_string()
    }

    /// A graph input.
    pub fn input(&mut self, name: &str, elem: i32, dims: &[Dim], doc: &str) {
        self.inputs.push(value_info(name, elem, dims, doc));
    }

    /// A graph output.
    pub fn output(&mut self, name: &str, elem: i32, dims: &[Dim], doc: &str) {
        self.outputs.push(value_info(name, elem, dims, doc));
    }

    /// The model around the graph, serialized.
    pub fn into_model(self, name: &str, doc: &str, metadata: Vec<(String, String)>) -> Vec<u8> {
        let model = ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "recur".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            doc_string: doc.into(),
            graph: Some(GraphProto {
                node: self.nodes,
                name: name.into(),
                initializer: self.initializers,
                doc_string: doc.into(),
                input: self.inputs,
                output: self.outputs,
            }),
            metadata_props: metadata
                .into_iter()
                .map(|(key, value)| StringStringEntryProto { key, value })
                .collect(),
        };
        model.encode_to_vec()
    }
}
