// placeholder: model_script lands here.
namespace hdeploy {}
